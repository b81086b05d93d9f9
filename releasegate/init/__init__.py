"""`releasegate init URL [URL…]`: a starting profile written from what a live target serves."""
