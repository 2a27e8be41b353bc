"""Modal screens: the help, the preset picker and the other dialogs."""
