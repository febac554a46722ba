// Replaced as the image module is written.
namespace thumbflow {}
