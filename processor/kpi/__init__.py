"""Released KPIs: aggregates of the masked rows of a view in event-time windows, with
small-cell suppression (a cell of fewer than ``min_group_size`` data subjects is never
published, nor can it be computed back from the window's total)."""
