/* toml.c — placeholder: being written (TOML 1.0 parser, issue 13). */
