from django.apps import AppConfig


class ScreenshotsConfig(AppConfig):
    name = "screenshots"
