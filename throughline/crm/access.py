"""Fetch-and-check: get a CRM record only if the user may see it (Zulip's ``access_*``)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from throughline.core.models import Organization
from throughline.core.roles import Role
from throughline.crm.models import Company, Contact, Task


def own_records_only(user) -> bool:
    return user.role == Role.SALES and Organization.current().sales_own_records_only


def scope(user, queryset: QuerySet) -> QuerySet:
    """Limit a queryset of owned records to what ``user`` may see."""
    if not own_records_only(user):
        return queryset
    model = queryset.model
    if model is Task:
        return queryset.filter(Q(owner=user) | Q(contact__owner=user))
    return queryset.filter(owner=user)


def contacts_for(user) -> QuerySet[Contact]:
    return scope(user, Contact.objects.select_related("company", "owner"))


def companies_for(user) -> QuerySet[Company]:
    return scope(user, Company.objects.select_related("owner"))


def tasks_for(user) -> QuerySet[Task]:
    return scope(user, Task.objects.select_related("owner", "contact", "company"))


def _get(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        # Same answer for "absent" and "not yours": nothing leaks about other records.
        raise Http404("Not found") from exc
    except Exception as exc:  # invalid UUID string
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise Http404("Not found") from exc
        raise


def access_contact(user, pk) -> Contact:
    return _get(contacts_for(user), pk)


def access_company(user, pk) -> Company:
    return _get(companies_for(user), pk)


def access_task(user, pk) -> Task:
    return _get(tasks_for(user), pk)
