"""A small `multipart/form-data` reader (the stdlib `cgi` module is deprecated)."""

from email.message import Message
from email.parser import BytesHeaderParser

from .wire import ApiError


def _boundary(content_type: str) -> bytes | None:
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        return None
    boundary = header.get_param("boundary")
    return boundary.encode() if isinstance(boundary, str) and boundary else None


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Split a form into text fields and file contents, both keyed by field name.

    A request that is not multipart yields two empty dicts, so the caller reports which
    required field is missing instead of a generic parse error.
    """
    boundary = _boundary(content_type)
    if boundary is None:
        return {}, {}
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    delimiter = b"--" + boundary
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise ApiError(400, "Malformed multipart/form-data body")
        headers = BytesHeaderParser().parsebytes(head.lstrip(b"\r\n"))
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        # The CRLF before the next delimiter belongs to the delimiter, not the content.
        content = content.removesuffix(b"\r\n")
        if headers.get_filename() is not None:
            files[name] = content
        else:
            fields[name] = content.decode("utf-8", errors="replace")
    return fields, files
