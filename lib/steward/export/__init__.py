"""Exports: the finance workbook (xlsx), the board pack (pptx, pdf) and chart rendering."""
