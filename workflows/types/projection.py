"""What the workflow hands the projection: the encounter's change and the events beside it.

The types live in `models/projection.py` (pure, below the repository that maps each event to its
tables); this module keeps their workflow-side names.
"""

from models.projection import (
    AcknowledgedEdit as AcknowledgedEdit,
)
from models.projection import (
    AppealDecided as AppealDecided,
)
from models.projection import (
    AppealFiled as AppealFiled,
)
from models.projection import (
    ClaimAcknowledged as ClaimAcknowledged,
)
from models.projection import (
    ClaimAdjudicated as ClaimAdjudicated,
)
from models.projection import (
    ClaimRejected as ClaimRejected,
)
from models.projection import (
    DenialClosed as DenialClosed,
)
from models.projection import (
    DenialOpened as DenialOpened,
)
from models.projection import (
    ProjectInput as ProjectInput,
)
from models.projection import (
    ProjectionEvent as ProjectionEvent,
)
from models.projection import (
    Record as Record,
)
from models.projection import (
    ScrubAcknowledged as ScrubAcknowledged,
)
