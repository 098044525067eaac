"""CSV answers of this area in the dashboards' form (UTF-8 with BOM, `;`, local times, formula-safe cells)."""
import csv
import io

from flask import Response, stream_with_context

from ..dashboard.csvexport import BOM, safe_cell


def local(value, tz):
    """YYYY-MM-DD HH:MM in the municipality's time zone, '' for none."""
    return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _chunks(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(header, rows, filename):
    response = Response(stream_with_context(_chunks(header, rows)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
