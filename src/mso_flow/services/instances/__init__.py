"""Process instances: start, read, cancel, migrate; incidents (process errors); guards on what a command may ask."""
