/* sealed.c — placeholder: being written (its interface is in the headers beside it). */
