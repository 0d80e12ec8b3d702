"""Words that reach pages as data (a state, a kind, a role, an error status, a feature's
message), marked here so that the ``pages`` catalogue has them; templates and page modules look
them up with ``translated(...)`` / ``PageLanguage.gettext`` where they show them.

Anything not listed is shown as it is: a page never fails for a word it cannot translate.
"""

from __future__ import annotations

from node.features.calls.errors import FieldError
from node.interfaces.web.language import N_, PageLanguage
from node.interfaces.web.localise import written
from protocol.errors import ChapterhouseError

#: States (follows, RSVPs, deliveries, campaign memberships), kinds, roles and severities.
STATES = (
    N_("pending"),
    N_("accepted"),
    N_("rejected"),
    N_("waitlisted"),
    N_("removed"),
    N_("cancelled"),
    N_("left"),
    N_("sent"),
    N_("dead"),
    N_("retry"),
    N_("failing"),
    N_("failed"),
    N_("approved"),
    N_("chapter"),
    N_("campaign"),
    N_("member"),
    N_("instance"),
    N_("organiser"),
    N_("admin"),
    N_("suspend"),
    N_("silence"),
    N_("counted"),
    N_("estimated"),
    N_("self_reported"),
)

#: The parts of a call a campaign and a chapter can both change (call_changes conflicts).
FIELDS = (
    N_("title"),
    N_("time"),
    N_("description"),
)

#: What an error page's heading says, by status (http.HTTPStatus phrases).
PHRASES = (
    N_("Bad Request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Conflict"),
    N_("Gone"),
    N_("Request Entity Too Large"),
    N_("Unsupported Media Type"),
    N_("Unprocessable Content"),
    N_("Unprocessable Entity"),
    N_("Too Many Requests"),
    N_("Internal Server Error"),
    N_("Bad Gateway"),
    N_("Service Unavailable"),
    N_("Error"),
)

#: What a browser is told when the handler said nothing more (node/interfaces/middlewares.py)
#: and the features' messages that pages show as they are.
MESSAGES = (
    N_("There is no page at this address. It may have moved, or the link may be mistyped."),
    N_("This page does not take that kind of request."),
    N_("Something went wrong on this node; it logged the details."),
    N_("the form's CSRF token is missing or wrong; reload the page and try again"),
    N_("no such chapter on this node"),
    N_("this campaign has not published a rollup yet"),
    N_("Too many sign-in attempts from your network."),
    N_("Too many wrong passwords for this name."),
)

#: The features' messages that pages show as they are (a refused follow, a check-in problem, a
#: missing page): looked up when shown, so a message worded with data stays in English.
FEATURE_MESSAGES = (
    N_("a walk-in's name is empty: give the name they gave, or count them"),
    N_("an actor cannot follow itself"),
    N_("an empty name: give a participant's name, @user@host or IRI"),
    N_("no such action call on this node"),
    N_("no such member on this node"),
    N_("no such member"),
    N_("no such pending follow request"),
    N_("only members have a profile to show commitments on"),
    N_("role must be member or organiser"),
    N_("role must be member, organiser or admin"),
    N_("say why: an exclusion is published with its reason"),
    N_("that is your own account"),
    N_("give the account to follow (user@host or its URL)"),
    N_("the action call is cancelled"),
    N_("the action call is cancelled: nobody can be checked in"),
    N_("the organisers have not opened check-in for this call yet"),
    N_("the walk-in count must be a whole number, 0 or more"),
    N_("this invitation link is not valid"),
    N_("this invitation was already used or has expired; ask an organiser for a new link"),
)

#: The fields a form's error names, and what the features say of them (``FieldError``).
FORM_FIELDS = (
    N_("capacity"),
    N_("choice"),
    N_("end"),
    N_("method"),
    N_("metrics"),
    N_("note"),
    N_("online_url"),
    N_("place"),
    N_("poll"),
    N_("reason"),
    N_("slots"),
    N_("start"),
    N_("tags"),
    N_("targets"),
    N_("text"),
    N_("timezone"),
    N_("goal"),
    N_("coordinates"),
)
FORM_MESSAGES = (
    N_("a cancelled call cannot be edited"),
    N_("each metric and unit may appear once"),
    N_("each target needs a metric and a unit"),
    N_("give at least one metric, e.g. participants=42:people"),
    N_("give latitude and longitude together"),
    N_("is required"),
    N_("is required: say what was done about the report"),
    N_("is unreasonably large"),
    N_("must be a list of hashtags (letters, digits, _)"),
    N_("must be a whole number of places"),
    N_("must be an IANA time zone name such as Europe/London"),
    N_("must be ours or theirs"),
    N_("the call has started: its poll would be closed already"),
    N_("the call is cancelled: it takes no RSVPs"),
    N_("the campaign's call is cancelled"),
    N_("the report was retracted"),
    N_("this call has no place yet: give the place's name too"),
    N_("give both latitude and longitude, or neither"),
)


def field_error(t: PageLanguage, error: FieldError) -> str:
    """A form's error as its page shows it: the field and what is wrong with it, in ``t``'s
    words, the data it names filled into the translated wording (``ChapterhouseError.spoken``)."""
    return error.spoken(t.translations.gettext, lambda value: written(t, value))


def said(t: PageLanguage, error: BaseException) -> str:
    """A feature's refusal (a flash, a form's error) in ``t``'s words: its wording translated
    and filled with its data when it has one, else looked up as it says it."""
    if isinstance(error, ChapterhouseError):
        return error.spoken(t.translations.gettext, lambda value: written(t, value))
    return t.gettext(str(error))
