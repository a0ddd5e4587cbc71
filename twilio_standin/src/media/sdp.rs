//! What the relay reads from an SDP offer before str0m takes it: the m-lines in order (kind,
//! mid, direction, msid track id), and which of them carry the three media slots (screen,
//! microphone, webcam) for the session's [`Layout`]. Also drops mDNS (`*.local`) candidates,
//! which the relay cannot resolve; the browser still reaches the relay's own candidate, and the
//! relay learns the browser's address from its checks.

/// The three media slots a session can carry, in the order the broadcast pages offer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    Screen = 0,
    Microphone = 1,
    Webcam = 2,
}

impl Slot {
    pub(crate) const ALL: [Slot; 3] = [Slot::Screen, Slot::Microphone, Slot::Webcam];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn is_video(self) -> bool {
        self != Slot::Microphone
    }

    /// The Twilio track kind of this slot.
    pub(crate) fn kind(self) -> &'static str {
        if self.is_video() { "video" } else { "audio" }
    }

    /// The track name used when the offer names none.
    pub(crate) fn default_name(self) -> &'static str {
        match self {
            Slot::Screen => "screen",
            Slot::Microphone => "microphone",
            Slot::Webcam => "webcam",
        }
    }
}

/// Which slots a session's m-lines carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// A stream host, and every watching session: the first video m-line is the screen, the
    /// first audio m-line the microphone, the second video m-line the webcam.
    Broadcast,
    /// A meeting participant's camera session: the first video m-line is the camera (the
    /// webcam slot), the first audio m-line the microphone.
    Camera,
    /// A meeting participant's screen session: the first video m-line is the screen.
    Screen,
}

impl Layout {
    /// The name in `?kind=` and in `MediaSessionInfo::publishes`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Layout::Broadcast => "broadcast",
            Layout::Camera => "camera",
            Layout::Screen => "screen",
        }
    }

    /// What an offer of this layout is expected to hold, for error messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Layout::Broadcast => "video (screen), audio (microphone), optional video (webcam)",
            Layout::Camera => "video (camera) and audio (microphone)",
            Layout::Screen => "video (screen)",
        }
    }

    /// The slot the `nth` video m-line carries (0-based), if any.
    fn video_slot(self, nth: usize) -> Option<Slot> {
        match (self, nth) {
            (Layout::Broadcast | Layout::Screen, 0) => Some(Slot::Screen),
            (Layout::Broadcast, 1) | (Layout::Camera, 0) => Some(Slot::Webcam),
            _ => None,
        }
    }

    fn has_audio(self) -> bool {
        self != Layout::Screen
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Dir {
    /// Whether the offerer sends on this m-line.
    pub(crate) fn offerer_sends(self) -> bool {
        matches!(self, Dir::SendRecv | Dir::SendOnly)
    }

    /// Whether the offerer receives on this m-line.
    pub(crate) fn offerer_receives(self) -> bool {
        matches!(self, Dir::SendRecv | Dir::RecvOnly)
    }
}

/// One m-line of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MLine {
    /// `audio`, `video`, `application`, ...
    pub(crate) kind: String,
    pub(crate) mid: Option<String>,
    pub(crate) dir: Dir,
    /// The track id of `a=msid:<stream> <track>`, if any.
    pub(crate) track: Option<String>,
    /// Port 0: a rejected or stopped m-line.
    pub(crate) disabled: bool,
}

/// The m-lines of `sdp`, in order.
pub(crate) fn media_lines(sdp: &str) -> Vec<MLine> {
    let mut lines: Vec<MLine> = Vec::new();
    let mut session_dir = Dir::SendRecv;
    for raw in sdp.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("m=") {
            let mut words = rest.split_whitespace();
            let kind = words.next().unwrap_or("").to_owned();
            let disabled = words.next() == Some("0");
            lines.push(MLine {
                kind,
                mid: None,
                dir: session_dir,
                track: None,
                disabled,
            });
            continue;
        }
        let dir = match line {
            "a=sendrecv" => Some(Dir::SendRecv),
            "a=sendonly" => Some(Dir::SendOnly),
            "a=recvonly" => Some(Dir::RecvOnly),
            "a=inactive" => Some(Dir::Inactive),
            _ => None,
        };
        match lines.last_mut() {
            None => {
                if let Some(d) = dir {
                    session_dir = d;
                }
            }
            Some(m) => {
                if let Some(d) = dir {
                    m.dir = d;
                } else if let Some(mid) = line.strip_prefix("a=mid:") {
                    m.mid = Some(mid.trim().to_owned());
                } else if let Some(msid) = line.strip_prefix("a=msid:") {
                    m.track = msid
                        .split_whitespace()
                        .nth(1)
                        .filter(|t| !t.is_empty() && *t != "-")
                        .map(ToOwned::to_owned);
                }
            }
        }
    }
    lines
}

/// Which m-line (by index) carries each slot in `layout` (see [`Layout`]). Disabled m-lines,
/// m-lines beyond the layout and other kinds are skipped.
pub(crate) fn slots(lines: &[MLine], layout: Layout) -> [Option<usize>; 3] {
    let mut out = [None; 3];
    let mut videos = 0;
    for (i, m) in lines.iter().enumerate() {
        if m.disabled {
            continue;
        }
        match m.kind.as_str() {
            "video" => {
                if let Some(slot) = layout.video_slot(videos) {
                    out[slot.index()] = Some(i);
                }
                videos += 1;
            }
            "audio" if layout.has_audio() && out[Slot::Microphone.index()].is_none() => {
                out[Slot::Microphone.index()] = Some(i);
            }
            _ => {}
        }
    }
    out
}

/// The offer without `a=candidate` lines naming an mDNS host (`....local`).
pub(crate) fn without_mdns_candidates(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let is_mdns = line.starts_with("a=candidate:")
            && line
                .split_whitespace()
                .nth(4)
                .is_some_and(|addr| addr.ends_with(".local"));
        if !is_mdns {
            out.push_str(line);
        }
    }
    out
}

/// Whether an m-line of `kind` (`video`, `audio`) in `sdp` offers `codec` (an `a=rtpmap`
/// encoding name such as `H264` or `opus`, compared without case) and is not disabled.
pub(crate) fn offers_codec(sdp: &str, kind: &str, codec: &str) -> bool {
    let mut in_kind = false;
    let mut payload_types: Vec<&str> = Vec::new();
    for raw in sdp.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("m=") {
            let mut words = rest.split_whitespace();
            in_kind = words.next() == Some(kind) && words.next() != Some("0");
            payload_types = words.skip(1).collect();
            continue;
        }
        if !in_kind {
            continue;
        }
        if let Some(map) = line.strip_prefix("a=rtpmap:") {
            let (pt, encoding) = map.split_once(' ').unwrap_or((map, ""));
            let name = encoding.split('/').next().unwrap_or("");
            if payload_types.contains(&pt) && name.eq_ignore_ascii_case(codec) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1 2\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=msid:s screen-track\r\n\
        a=candidate:1 1 udp 2122260223 abcd.local 5000 typ host\r\n\
        a=candidate:2 1 udp 2122260223 127.0.0.1 5000 typ host\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=sendonly\r\na=msid:s mic\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n";

    #[test]
    fn reads_m_lines_and_maps_slots_in_page_order() {
        let lines = media_lines(OFFER);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].kind, "video");
        assert_eq!(lines[0].mid.as_deref(), Some("0"));
        assert_eq!(lines[0].dir, Dir::SendOnly);
        assert_eq!(lines[0].track.as_deref(), Some("screen-track"));
        assert_eq!(lines[2].track, None);
        assert_eq!(
            slots(&lines, Layout::Broadcast),
            [Some(0), Some(1), Some(2)]
        );

        let audio_first = media_lines("m=audio 9 X 111\r\na=recvonly\r\nm=video 9 X 96\r\n");
        assert_eq!(
            slots(&audio_first, Layout::Broadcast),
            [Some(1), Some(0), None]
        );
        assert_eq!(audio_first[1].dir, Dir::SendRecv);
    }

    #[test]
    fn meeting_layouts_map_the_camera_and_the_screen() {
        let lines = media_lines(OFFER);
        // A camera session: its first video m-line is the camera; a second video carries nothing.
        assert_eq!(slots(&lines, Layout::Camera), [None, Some(1), Some(0)]);
        // A screen session: the first video only; audio is not taken.
        assert_eq!(slots(&lines, Layout::Screen), [Some(0), None, None]);
        let audio_only = media_lines("m=audio 9 X 111\r\na=sendonly\r\n");
        assert_eq!(slots(&audio_only, Layout::Screen), [None, None, None]);
        assert_eq!(slots(&audio_only, Layout::Camera), [None, Some(0), None]);
    }

    #[test]
    fn drops_only_mdns_candidates() {
        let cleaned = without_mdns_candidates(OFFER);
        assert!(!cleaned.contains("abcd.local"));
        assert!(cleaned.contains("127.0.0.1 5000 typ host"));
        assert_eq!(
            cleaned.len() + "a=candidate:1 1 udp 2122260223 abcd.local 5000 typ host\r\n".len(),
            OFFER.len()
        );
    }
}
