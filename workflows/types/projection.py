"""What the workflow hands the projection: the encounter's change and the events beside it.

The types live in `models/encounters/projection.py` (pure, below the repository that maps each event to its
tables); this module keeps their workflow-side names.
"""

from models.encounters.projection import AcknowledgedEdit as AcknowledgedEdit
from models.encounters.projection import AppealDecided as AppealDecided
from models.encounters.projection import AppealFiled as AppealFiled
from models.encounters.projection import ClaimAcknowledged as ClaimAcknowledged
from models.encounters.projection import ClaimAdjudicated as ClaimAdjudicated
from models.encounters.projection import ClaimRejected as ClaimRejected
from models.encounters.projection import DenialClosed as DenialClosed
from models.encounters.projection import DenialOpened as DenialOpened
from models.encounters.projection import ProjectBatch as ProjectBatch
from models.encounters.projection import ProjectInput as ProjectInput
from models.encounters.projection import ProjectionEvent as ProjectionEvent
from models.encounters.projection import Record as Record
from models.encounters.projection import ScrubAcknowledged as ScrubAcknowledged
