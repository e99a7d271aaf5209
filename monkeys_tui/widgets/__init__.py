from monkeys_tui.widgets.grid import LOOKS, STATUS_CELL, AttemptGrid, Cell

__all__ = ["LOOKS", "STATUS_CELL", "AttemptGrid", "Cell"]
