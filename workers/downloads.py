"""Sending an artifact's file to whoever may download it (the API for its owner, the admin for staff).

On local files the web process sends the file in blocks (FileResponse). On a remote store the
download goes straight from the store: a redirect to a short-lived presigned URL, or, with
LAYERLOOM_S3_PRESIGNED_DOWNLOADS=0, the object streamed through in 1 MiB chunks. A large
artifact is never held whole in the web process's memory either way.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse

from webapp import filestore
from workers.models import Artifact


class MissingFile(Exception):
    """The artifact's file is not in the store (or its path would leave the data root)."""


def artifact_response(artifact: Artifact) -> HttpResponse | StreamingHttpResponse | FileResponse:
    if not artifact.inside_data_root():
        raise MissingFile(artifact.path)
    if filestore.is_local():
        path = artifact.stored_file()
        if path is None:
            raise MissingFile(artifact.path)
        response: HttpResponse | StreamingHttpResponse | FileResponse = FileResponse(
            path.open("rb"), as_attachment=True, filename=artifact.filename, content_type="application/octet-stream"
        )
    elif not filestore.exists(artifact.path):
        raise MissingFile(artifact.path)
    elif url := filestore.download_url(artifact.path, artifact.filename):
        response = HttpResponseRedirect(url)
    else:
        response = StreamingHttpResponse(filestore.stream(artifact.path), content_type="application/octet-stream")
        response["Content-Length"] = str(artifact.size_bytes)
        response["Content-Disposition"] = f'attachment; filename="{artifact.filename.replace(chr(34), "")}"'
    response["X-Checksum-SHA256"] = artifact.sha256
    return response
