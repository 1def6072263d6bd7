/* driver.c: being written */
