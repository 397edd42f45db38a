# Load Celery with Django so shared_task binds to our app (Celery's Django recipe).
from config.celery import app as celery_app

__all__ = ("celery_app",)
