"""LUNA's HTTP protocol: request ids and errors, credentials, overload bounds, and reading
requests (bodies, images, EXIF, query parameters); the generated API document."""
