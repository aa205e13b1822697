"""``bi``: the flat row for BI tools, with Debezium's encodings decoded (formats/decoded.py):
ISO dates and timestamps, exact decimal strings, as plain JSON. With Avro the row keeps its
logical types instead (Avro readers decode them), as ``flat`` does."""

from __future__ import annotations

from processor.formats.views.base import VIEW_FORMATS
from processor.formats.views.flat import FlatFormat


@VIEW_FORMATS.register
class BiFormat(FlatFormat):
    name = "bi"
    decodes_logical_types = True
    #: the decoding is the Python engine's (a route with a ``bi`` view is masked there)
    native = False
