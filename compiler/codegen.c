/* codegen.c: being written */
