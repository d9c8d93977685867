"""Demo data for delivery: project templates and a project per accepted proposal, moved along
(milestones in QA, delivered, accepted; one closed with a testimonial; retainer periods)."""

from __future__ import annotations

from throughline.core.actor import Actor
from throughline.core.demo import DemoContext, demo_section
from throughline.core.models import Channel
from throughline.delivery.models import Project, ProjectTemplate
from throughline.delivery.services import closeout, kickoff, milestones, retainers, templates
from throughline.sales.models import Proposal, ProposalTemplate

WEBSITE = {
    "milestones": [
        {
            "title": "Discovery done",
            "offset_days": 10,
            "tasks": ["Stakeholder interviews", "Sitemap", "Content inventory"],
            "qa": ["Findings reviewed with the lead designer"],
        },
        {
            "title": "Design approved",
            "offset_days": 30,
            "tasks": ["Wireframes", "Visual design", "Design review"],
            "qa": ["Accessibility check (contrast, focus order)", "Brand guide respected"],
        },
        {
            "title": "Site live",
            "offset_days": 60,
            "tasks": ["Build templates", "Migrate content", "Launch"],
            "qa": ["Cross-browser test", "Redirects tested", "Analytics receiving data"],
        },
    ],
    "onboarding": [
        {"title": "Collect CMS and hosting access", "owner_role": "delivery", "due_offset_days": 2},
        {"title": "Confirm the deposit is paid", "owner_role": "billing", "due_offset_days": 3},
        {"title": "Kick-off call with the client", "owner_role": "", "due_offset_days": 5},
    ],
    "offboarding": [
        {"title": "Hand over credentials", "owner_role": "delivery", "due_offset_days": 2},
        {"title": "Archive project files", "owner_role": "", "due_offset_days": 7},
    ],
}
CARE = {
    "milestones": [],
    "onboarding": [
        {"title": "Set up monitoring", "owner_role": "delivery", "due_offset_days": 2},
        {"title": "Set up the monthly invoice", "owner_role": "billing", "due_offset_days": 2},
    ],
    "offboarding": [{"title": "Remove monitoring", "owner_role": "delivery", "due_offset_days": 1}],
}


def _template(ctx: DemoContext, name: str, content: dict, proposal_template: str):
    template = ProjectTemplate.objects.filter(name=name).first()
    if template is None:
        template = templates.create_template(ctx.actor, name=name, content=content)
        ctx.count("project templates")
    linked = ProposalTemplate.objects.filter(name=proposal_template).first()
    if linked is not None:
        templates.update_template(ctx.actor, template, proposal_templates=[linked])
    return template


def _advance(ctx: DemoContext, project: Project, index: int) -> None:
    staff = ctx.as_user(ctx.user("delivery") or ctx.user("owner"))
    client = Actor(user=None, channel=Channel.PORTAL, label=f"{project.contact} (demo)")
    steps = [4, 2, 7][index % 3]  # how far along: 7 = every milestone accepted, then closed
    for milestone in project.milestones.all():
        if steps <= 0:
            break
        milestones.start(staff, milestone)
        steps -= 1
        if steps <= 0:
            break
        milestones.submit_for_qa(staff, milestone)
        for item in milestone.qa_items.all():
            milestones.complete_qa_item(staff, item)
        milestones.deliver(staff, milestone)
        steps -= 1
        if steps <= 0:
            break
        milestones.accept(client, milestone)
    project.refresh_from_db()
    if project.milestones.exclude(status="accepted").exists() or not project.milestones.exists():
        return
    project = closeout.close_project(staff, project, outcomes="Launched on time; bounce rate -18%.")
    closeout.record_testimonial(
        client,
        project,
        text="Clear plan, no surprises, and a site our team can update themselves.",
        rating=5,
        may_publish=True,
    )
    closeout.record_nps(client, project, score=9)
    ctx.count("closed projects")


@demo_section("delivery", order=50, has_data=lambda: Project.objects.exists())
def build_delivery(ctx: DemoContext) -> None:
    website = _template(ctx, "Website delivery", WEBSITE, "Website project")
    _template(ctx, "Care retainer", CARE, "Monthly care retainer")
    if templates.DeliverySettings.current().default_template is None:
        templates.set_default_template(ctx.actor, website)
    accepted = Proposal.objects.filter(accepted_version__isnull=False).order_by("number")
    for index, proposal in enumerate(accepted):
        if Project.objects.filter(proposal=proposal).exists():
            continue
        project = kickoff.kickoff_from_proposal(ctx.as_user(proposal.owner), proposal)
        ctx.count("projects")
        _advance(ctx, project, index)
    opened = retainers.open_due_periods(ctx.actor)
    ctx.count("retainer periods", len(opened))
