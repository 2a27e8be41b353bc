"""The dashboard's panes (one per tab) and the parts the Training pane is made of."""
