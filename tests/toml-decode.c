/* toml-decode.c — placeholder: being written (issue 13). */
int main(void) { return 1; }
