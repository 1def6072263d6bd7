/* frame.c: being written */
