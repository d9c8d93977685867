from django.shortcuts import render

from throughline.core.access import requires


@requires("crm.view")
def home(request):
    return render(request, "core/home.html", {})
