"""The output formats of a view, one module each (``debezium``, ``flat``, ``bi``), found by name.

A format renders a masked change event as the record value and carries the facts that others
ask of it — its layout for the schema derivations, the columns it adds, whether it shows the
before image of updates, whether the native core renders it — so that no other module
branches on a format's name.
"""

from __future__ import annotations

from processor.formats.views.base import VIEW_FORMATS, AddedColumn, ViewFormat, view_format

__all__ = ["VIEW_FORMATS", "AddedColumn", "ViewFormat", "view_format"]
