"""The service settings a create or update request gives, applied over defaults or the current settings."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.records import AutoScaler, DataCollection, Reservation, ServiceSettings


@dataclass(frozen=True)
class SettingsPatch:
    """Settings given by a request; None = not given (keeps the current value, or the default at create).

    A given object (dataCollection, autoScaler, containerResourceReservation) replaces the current one
    whole, as in MMS. maxConcurrentRequestsPerContainer may be given as null, hence its own flag.
    """

    num_replicas: int | None = None
    app_insights_enabled: bool | None = None
    data_collection: DataCollection | None = None
    autoscaler: AutoScaler | None = None
    reservation: Reservation | None = None
    max_concurrent_requests: int | None = None
    max_concurrent_given: bool = False

    def apply(self, current: ServiceSettings) -> ServiceSettings:
        return ServiceSettings(
            num_replicas=current.num_replicas if self.num_replicas is None else self.num_replicas,
            app_insights_enabled=(
                current.app_insights_enabled
                if self.app_insights_enabled is None
                else self.app_insights_enabled
            ),
            data_collection=current.data_collection if self.data_collection is None else self.data_collection,
            autoscaler=current.autoscaler if self.autoscaler is None else self.autoscaler,
            reservation=current.reservation if self.reservation is None else self.reservation,
            max_concurrent_requests=(
                self.max_concurrent_requests if self.max_concurrent_given else current.max_concurrent_requests
            ),
        )
