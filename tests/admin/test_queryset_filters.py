"""What the admin's remote querysets accept from ``filter()``: what the API can honour, and a
clear ``ValueError`` (never a silently dropped condition) for what it cannot."""

from django.db.models import Q
from django.test import SimpleTestCase

from django_trigger.admin.querysets import RunQuerySet


class RemoteFilterTests(SimpleTestCase):
    def test_and_and_single_key_or_are_sent(self):
        qs = RunQuerySet().filter(
            Q(status="COMPLETED") | Q(status="FAILED"), task_identifier="hello"
        )
        self.assertEqual(
            qs.filters, {"status": ["COMPLETED", "FAILED"], "task_identifier": ["hello"]}
        )

    def test_negated_q_is_refused_wherever_it_sits(self):
        for q in (
            ~Q(status="COMPLETED"),
            Q(status="COMPLETED") & ~Q(task_identifier="hello"),
            Q(~Q(status="COMPLETED")),
            ~Q(status="COMPLETED", task_identifier="hello"),
        ):
            with self.subTest(q=q), self.assertRaisesMessage(ValueError, "negated filters"):
                RunQuerySet().filter(q)

    def test_negation_inside_an_or_is_refused(self):
        with self.assertRaisesMessage(ValueError, "only filters on one field can be OR-ed"):
            RunQuerySet().filter(Q(status="COMPLETED") | ~Q(status="FAILED"))

    def test_refusal_leaves_the_original_queryset_untouched(self):
        qs = RunQuerySet().filter(status="COMPLETED")
        with self.assertRaises(ValueError):
            qs.filter(~Q(task_identifier="hello"))
        self.assertEqual(qs.filters, {"status": ["COMPLETED"]})

    def test_other_lookups_are_refused(self):
        with self.assertRaisesMessage(ValueError, "'icontains' lookup"):
            RunQuerySet().filter(task_identifier__icontains="he")
