"""monkeys: the app and the command line (the last room: reads the store and the event stream)."""
