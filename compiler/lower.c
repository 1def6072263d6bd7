/* lower.c: being written */
