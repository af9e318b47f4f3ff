"""The assistant's data: labelled utterances (train.csv), the held-out evaluation set
(heldout.csv, never trained on) and answer templates per intent (answers.json)."""
