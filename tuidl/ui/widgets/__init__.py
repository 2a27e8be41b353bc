"""Widgets the panes are built from: charts, forms, the decision boundary, results, the key bar."""
