/* resolve.c: being written */
