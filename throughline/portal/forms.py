from django import forms


class NewLinkForm(forms.Form):
    email = forms.EmailField(label="Your e-mail address", max_length=254)


class MilestoneDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", "Accept"), ("changes", "Request changes")], widget=forms.HiddenInput
    )
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "changes" and not (data.get("comment") or "").strip():
            self.add_error("comment", "Say what should change.")
        return data


class QuestionnaireForm(forms.Form):
    access = forms.CharField(
        label="Access: which systems and accounts will we need, and who grants them?",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    assets = forms.CharField(
        label="Assets: brand material, documents, data we should have",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    stakeholders = forms.CharField(
        label="Stakeholders: who decides, who reviews, who should be kept informed",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    notes = forms.CharField(
        label="Anything else",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        if not any((v or "").strip() for v in data.values()):
            raise forms.ValidationError("Answer at least one question.")
        return data


class FeedbackForm(forms.Form):
    score = forms.TypedChoiceField(
        label="How likely are you to recommend us to a friend or colleague?",
        choices=[(i, str(i)) for i in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label="A few words about working with us",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    rating = forms.TypedChoiceField(
        label="Your rating",
        choices=[(i, f"{i} ★") for i in range(1, 6)],
        coerce=int,
        required=False,
        widget=forms.RadioSelect,
    )
    may_publish = forms.BooleanField(
        label="You may publish my testimonial with my name", required=False
    )

    def clean(self):
        data = super().clean()
        if (data.get("text") or "").strip() and not data.get("rating"):
            self.add_error("rating", "Choose a rating from 1 to 5.")
        return data
