/* Does not compile. */
int broken( { return }
