from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_delete, post_save, pre_delete

        from accounts import user_cache, web_sessions
        from accounts.models import User

        # Every Django-session sign-in and sign-out, whichever view does it (dashboard, admin).
        user_logged_in.connect(web_sessions.on_user_logged_in, dispatch_uid="stint_web_session_open")
        user_logged_out.connect(web_sessions.on_user_logged_out, dispatch_uid="stint_web_session_close")
        # Every change of a user row retires the copies processes cache (accounts/user_cache.py);
        # a company by its label: accounts does not import organizations.
        post_save.connect(user_cache.on_user_saved, sender=User, dispatch_uid="stint_user_cache_saved")
        post_delete.connect(user_cache.on_user_deleted, sender=User, dispatch_uid="stint_user_cache_deleted")
        pre_delete.connect(
            user_cache.on_company_deleting, sender="organizations.Company", dispatch_uid="stint_user_cache_company"
        )
