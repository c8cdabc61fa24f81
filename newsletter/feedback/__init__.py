"""Learning from feedback: "more like this" / "less like this" ratings and each reader's taste model.

models.py    Rating (one per subscriber and paper) and TasteModel (a trained linear classifier)
links.py     the signed one-click links in every digest
services.py  recording, undoing and resetting ratings (writes)
selectors.py what a reader rated (reads)
views.py     the pages behind the links and the preferences page's ratings
taste.py     training a reader's taste model on paper embeddings, and loading it for the planner
"""
