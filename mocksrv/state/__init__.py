"""What the mock remembers, and everything a test sets up or resets: the record store and its
log, scenario fixtures, the virtual clock, the request journal, rules and injected faults,
held together by `world.MockState`."""
