"""The analyst web workspace: FastAPI app (`cintel.web.app:create_app`), accounts, sessions and pages."""
