"""History: the imported order history of a source system.

Loads a transaction log in the Online Retail II layout (parquet, CSV or XLSX) into the
platform's own tables: products and SKUs (catalog), customers, and orders with their lines
(orders). It owns no table of its own. Because those domains' services write one record at a
time, the importer is the one place that bulk-inserts into their tables, and it only ever
inserts rows whose natural key (SKU code, customer number, order number, order and line
number) is not there yet, so importing a log twice changes nothing.

Emits ``history.imported`` with the import report.
"""
