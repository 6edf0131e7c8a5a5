"""The complete trade tape: what to fetch after a drop to fill the hole, in what order and at what
pace, and which markets to follow. Pure cores (no I/O, the clock passed in), driven by the actors."""
