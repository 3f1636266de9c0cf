"""What is printed: the receipt (ESC/POS via :mod:`drivers`, PDF, speech) and the dossier PDF."""
