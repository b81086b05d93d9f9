"""Redis (001 §6.4, 003, 004): the target's engine with INFO cached (engine.py), pure facts drawn
from INFO (facts.py) and the per-check view (view.py)."""
