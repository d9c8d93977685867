from throughline.signing.models.ceremony import SignatureEvidence, Signer, SigningRequest
from throughline.signing.models.certificates import SigningCertificate
from throughline.signing.models.contracts import (
    Contract,
    ContractNumber,
    ContractTemplate,
    ContractTemplateVersion,
    SigningSettings,
)

__all__ = [
    "Contract",
    "ContractNumber",
    "ContractTemplate",
    "ContractTemplateVersion",
    "SignatureEvidence",
    "Signer",
    "SigningCertificate",
    "SigningRequest",
    "SigningSettings",
]
