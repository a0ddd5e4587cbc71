# Sourced by deploy.sh and check-deploy.sh: the deployed functions and how they are built.
# CRATES are the crates under functions/, LOGICAL_IDS their ids in template.yaml, same order
# (deploy_tests checks both lists against the template).
CRATES=(host_token stream_start stream_stop audience_token subscribe reaper room_events host_session stream_status meeting_create meeting_token)
LOGICAL_IDS=(HostTokenFunction StreamStartFunction StreamStopFunction AudienceTokenFunction SubscribeFunction ReaperFunction RoomEventsFunction HostSessionFunction StreamStatusFunction MeetingCreateFunction MeetingTokenFunction)

# All functions in one cargo run: shared crates compile once and two fat-LTO links run at a
# time; `sam build` (one cargo-lambda run per function) then finds them up to date.
build_lambdas() {
  local packages=()
  for crate in "${CRATES[@]}"; do packages+=(--package "$crate"); done
  cargo lambda build --release --arm64 --locked "${packages[@]}"
}
