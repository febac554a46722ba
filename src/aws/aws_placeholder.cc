// Replaced as the aws module is written.
namespace thumbflow {}
