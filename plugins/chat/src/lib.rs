//! The distroduce chat model: two users enter a room, greet each other, say goodbye and leave,
//! every timestep; only the `send` actions are published to Kafka. A faithful port of
//! `distroduce/action_policies.py` and `distroduce/state_updates.py` (cadCAD history, Oct 2019);
//! see README.md for the model and for each deliberate difference.
//!
//! The Python policies were closures over their arguments (`enter_action('server', 'room_1',
//! 'A')`); here they are three exports that take the same values as scenario-bound `args`.
//!
//! In the in-guest loop the state stays typed ([`typed::State`], ABI.md §11): the state updates
//! that read MessagePack projections in the host loop have typed forms in [`typed`].

pub mod policies;
pub mod state_updates;
pub mod typed;

distroduce_sdk::native_table!(
    state = typed::State;
    policies::enter,
    policies::send,
    policies::exit,
    state_updates::send_message => typed::send_message,
    state_updates::count_messages => typed::count_messages,
    state_updates::add_send_time => typed::add_send_time,
    state_updates::current_time,
);
