from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts import web_sessions

        # Every Django-session sign-in and sign-out, whichever view does it (dashboard, admin).
        user_logged_in.connect(web_sessions.on_user_logged_in, dispatch_uid="stint_web_session_open")
        user_logged_out.connect(web_sessions.on_user_logged_out, dispatch_uid="stint_web_session_close")
