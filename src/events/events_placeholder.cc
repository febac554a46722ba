// Replaced as the events module is written.
namespace thumbflow {}
