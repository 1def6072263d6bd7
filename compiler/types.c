/* types.c: being written */
