# Stand-in for the FastAPI app module the seed test imports; requests go to UVIS over HTTP.
app = object()
